"""Small real-looking documents that more than one test module ingests."""

# A termination section in two chunks: the words of the question are in the second, the answer in the first.
TERMINATION = (
    "Shipping\n========\n\nParcels leave the warehouse within two days; collecting one needs a driving licence.\n\n"
    "Termination\n===========\n\nIf you stop every violation, your rights return: they are reinstated provisionally "
    "at first, and permanently when the holder raises no objection within sixty days. "
    + "The holder may ask for the source of each copy, and you keep records of the copies you made for three years. " * 10
    + "Termination ends the licence: any copy, change or sale outside these terms ends your licence at once.\n"
)
