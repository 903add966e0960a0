"""The stamping domain: pure rules, no I/O."""
