"""Release operations on a live cluster: blue/green switches, canary promotion and abort."""
