"""The `nuage` commands that talk to a nuage API over HTTP through the SDK (`nuage.client`):
login, instances, tasks, events, snapshots, volumes, ips. They import nothing of the server."""
