"""The kinds of ledger entries the market writes: one name per movement, in one place.

The public books (the flow rollup and its reconciliation) are derived from these kinds, and
statements sum entries by kind, so a kind names one movement for ever.
"""

from __future__ import annotations

DEPOSIT = "deposit"  # world -> wallet
WITHDRAWAL = "withdrawal"  # wallet -> world
PLEDGE = "pledge"  # wallet -> pledge, a direct pledge
PLEDGE_HOLD = "pledge_hold"  # wallet -> pledge, pending: a threshold pledge
MATCH_HOLD = "match_hold"  # wallet -> pledge, pending: a match pledge's undrawn cap
MATCH_DRAW = "match_draw"  # posts part of a match hold
THRESHOLD_MET = "threshold_met"  # posts a threshold hold
PLEDGE_RELEASE = "pledge_release"  # voids a hold
PLEDGE_REFUND = "pledge_refund"  # pledge -> wallet: cancelled, completed
PLEDGE_EXPIRY_REFUND = "pledge_expiry_refund"  # pledge -> wallet: expired
PLEDGE_ROLLOVER = "pledge_rollover"  # pledge -> a pledge on another challenge
AWARD = "award"  # pledge -> escrow
PAYOUT = "payout"  # escrow -> actors' wallets
ESCROW_RETURN = "escrow_return"  # escrow -> pledge
ROUND_FUND = "round_fund"  # wallet -> round: a matching round's pool
ROUND_MATCH = "round_match"  # round -> pledge: a challenge's match, the sponsor's pledge
ROUND_RETURN = "round_return"  # round -> wallet: what a round could not place
BONUS_ESCROW = "bonus_escrow"  # sponsor's wallet -> bonus: an assurance bonus offered
BONUS_PAID = "bonus_paid"  # bonus -> a released threshold pledger's wallet
BONUS_RETURN = "bonus_return"  # bonus -> sponsor's wallet: the challenge ended
FEE_ESCROW = "fee_escrow"  # pledge -> fee escrow: verifier fees, when verifiers are assigned
FEE_PAYMENT = "fee_payment"  # fee escrow -> a verifier's wallet, when it attests
FEE_RETURN = "fee_return"  # fee escrow -> pledge: fees of verifiers that never attested
HOST_FEE = "host_fee"  # pledge -> the host's wallet: a share of money committed to the pool

# Entries that give a pledge's money back to its funder's wallet.
RETURN_KINDS = (PLEDGE_REFUND, PLEDGE_EXPIRY_REFUND)
