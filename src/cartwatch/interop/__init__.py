"""cartwatch package."""
