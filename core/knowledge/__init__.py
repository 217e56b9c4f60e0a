"""Knowledge: extract -> chunk -> embed -> store (LanceDB) -> hybrid search, with a background worker."""

DIM = 384  # the width of every vector the chunk store holds (all-MiniLM-L6-v2)
