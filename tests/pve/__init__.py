"""Proxmox VE without a cluster: fakepve served on 127.0.0.1, our extension of it, and the check of
every request against Proxmox's published API schema (`../shared/proxmox/pve-api-schema.json`).

fakepve is AGPL: a test-only dependency, pinned, imported only here and never copied into nuage.
"""
