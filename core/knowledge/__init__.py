"""Knowledge: extract -> chunk -> embed -> store (LanceDB) -> hybrid search, with a background worker."""
