"""Demand collection (需求报量): hospitals report demand per lot, officers follow and freeze it,
amendment rows after freezing, and committed volumes (DOMAIN.md §1 L2, §5 V1–V2, §12 (c))."""
