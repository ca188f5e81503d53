from tests.pve.fixtures import pve, pve_api

__all__ = ["pve", "pve_api"]
