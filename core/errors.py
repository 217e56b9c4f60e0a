"""The studio's errors. Each carries one plain sentence a non-developer can act on."""


class StudioError(Exception):
    """Base: `str(error)` is the sentence shown to the user."""


class NotFound(StudioError):
    pass


class InvalidInput(StudioError):
    pass


class IngestError(StudioError):
    """A file that cannot become knowledge; the message says why and what to do."""


class ProviderError(StudioError):
    """A model or voice provider failed."""


class MissingKey(ProviderError):
    pass


class AuthFailed(ProviderError):
    pass


class RateLimited(ProviderError):
    pass


class TimedOut(ProviderError):
    pass
