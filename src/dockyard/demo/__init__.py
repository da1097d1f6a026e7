"""``dockyard demo`` (layer 8): the whole lifecycle on LendingClub-style loans, and the loan data itself."""
