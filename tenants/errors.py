from shared_apps.core.errors import ApplicationError


class TenantError(ApplicationError):
    """A tenant operation that cannot be done, with a message fit for the person who asked."""


class SubdomainInvalid(TenantError):
    pass


class SubdomainTaken(TenantError):
    pass


class TenantNotFound(TenantError):
    pass


class DomainInvalid(TenantError):
    pass


class DomainTaken(TenantError):
    pass


class TenantNameInvalid(TenantError):
    pass
