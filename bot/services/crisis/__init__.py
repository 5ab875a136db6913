"""The crisis check (issue 9): detection (pure, data-driven), the crisis-line resources, and the event
record. See README "Safety"."""
