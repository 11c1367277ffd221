"""Scheduled campaigns (MULDESP): the pure planner and the scheduler actor."""
