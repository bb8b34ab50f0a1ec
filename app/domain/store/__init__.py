"""The market's nouns as stored: each table with its repository, which holds every query
of the table and every row lock taken on it.

Services never build SQL for these tables; they ask a repository (`PledgeRepository(session)`)
and read like the use case: lock the challenge, then its pledges, move the money. The order
in which locks are taken, and why, is written once, in `locks`, and every repository here
reports its locks there, so a path that breaks the order fails loudly in tests.

The behaviour that uses these nouns lives above, one way: challenges (a challenge's life)
-> delivery (milestones, bids, claims, payouts) -> pledges (money in and out of pledges)
-> flows (the public books) -> store.
"""
