"""Delivery: swarms bid on milestones, are awarded escrowed money, claim outcomes, and are
paid when a quorum of verifiers attests them."""
