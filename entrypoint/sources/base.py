"""What every secret source shares, and the finding type all problems are reported as."""

ERROR = "error"
WARNING = "warning"


class Finding:
    """One problem: the secret (or None for a whole file) and a message that never holds a value."""

    __slots__ = ("secret", "level", "message")

    def __init__(self, secret, level, message):
        self.secret = secret
        self.level = level
        self.message = message

    @property
    def is_error(self):
        return self.level == ERROR

    def as_dict(self):
        return {"secret": self.secret, "level": self.level, "message": self.message}

    def __repr__(self):
        return f"Finding({self.secret!r}, {self.level!r}, {self.message!r})"


class SecretSource:
    label = "source"

    def lookup(self, name):
        """The non-empty value of `name` here, or None. May raise a ConfigError naming `name`."""
        raise NotImplementedError

    def findings(self, names):
        """Problems of this source as a whole, for the spec's `names` (conflicts, stray files)."""
        return []

    def offered_names(self):
        """Names this source brings beyond the spec's (an env-file exports all its keys)."""
        return ()

    def variables_to_unset(self, names):
        """Environment variables the started program must not see (the `_FILE` indirections)."""
        return ()

    def __repr__(self):
        return f"{type(self).__name__}({self.label!r})"
