"""Challenges and their milestones: what funders pool money for, and what actors deliver."""
