"""The assurance bonus (a dominant assurance contract): a sponsor's escrow that pays threshold
pledgers whose threshold was missed, so pledging early is never worse than waiting."""
