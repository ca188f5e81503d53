"""nuage: a self-hostable VPS cloud control plane."""
