"""The workspace's API: /api/v1/ on every workspace host, DRF over the product, accounts and billing.

A face, like the pages: it parses and shapes (serializers), calls the same selectors and services the pages call, and
asks `tenant_apps/projects/permissions.py` and the accounts permission matrix every question of who may do what; no
rule lives here. Nothing imports it but the URLconf.
"""
