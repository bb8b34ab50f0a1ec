"""Pledges: each funder's money for a challenge, on the funder's own terms."""
