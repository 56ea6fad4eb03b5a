"""The load benchmark's password hasher: Django's PBKDF2 at 10,000 iterations instead of 1,000,000. Every sign-in
still verifies a real hash, but forty people signing in at once then measure the site, not 40 x 0.7 s of SHA-256 on a
2-core machine (bench/settings_load.py only)."""

from django.contrib.auth.hashers import PBKDF2PasswordHasher


class LoadBenchPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    algorithm = "pbkdf2_sha256_load"
    iterations = 10_000
