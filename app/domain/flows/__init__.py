"""Public funding flows: funder -> challenge -> milestone -> actor, rolled up as money moves."""
