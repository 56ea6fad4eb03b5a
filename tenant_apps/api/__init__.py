"""The workspace's API: /api/v1/ on every workspace host, DRF over the product, accounts and billing.

A face, like the pages: it parses and shapes (serializers), calls the same selectors and services the pages call, and
asks `tenant_apps/projects/permissions.py` and the accounts permission matrix every question of who may do what; no
rule lives here. Nothing imports it but the URLconf.

Documents are not here yet: the storage work (documents in the product, files in shared_apps/storage) landed alongside
this API, and its endpoints — metadata, upload through the presigned flow, download through the permission-checked
redirect — are to be added over the product's document selectors and services, like everything else here.
"""
