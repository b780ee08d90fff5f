"""The secrets spec as objects: entries and the groups their rules form."""

SECRET = "secret"


class Entry:
    __slots__ = ("name", "kind", "service", "description", "rule", "group", "aliases", "pattern",
                 "format", "choices", "default", "placeholders")

    def __init__(self, data):
        self.name = data["name"]
        self.kind = data["kind"]
        self.service = data["service"]
        self.description = data["description"]
        self.rule = data["rule"]
        self.group = data.get("group")
        self.aliases = tuple(data.get("aliases", ()))
        self.pattern = data.get("pattern")
        self.format = data.get("format")
        self.choices = tuple(data.get("choices", ()))
        self.default = data.get("default")
        self.placeholders = tuple(data.get("placeholders", ()))

    @property
    def is_secret(self):
        return self.kind == SECRET

    @property
    def lookup_names(self):
        """The canonical name first, then the legacy aliases it is also found under."""
        return (self.name, *self.aliases)

    def __repr__(self):
        return f"Entry({self.name!r}, rule={self.rule!r})"


class Spec:
    def __init__(self, data, origin):
        self.origin = origin
        self.entries = tuple(Entry(item) for item in data["entries"])
        self.by_name = {entry.name: entry for entry in self.entries}
        self.groups = {}
        for entry in self.entries:
            if entry.group:
                self.groups.setdefault(entry.group, []).append(entry)

    def entry_for(self, name):
        """The entry a canonical name or a legacy alias belongs to, or None."""
        entry = self.by_name.get(name)
        if entry is None:
            entry = next((e for e in self.entries if name in e.aliases), None)
        return entry

    def __iter__(self):
        return iter(self.entries)

    def __repr__(self):
        return f"Spec({self.origin!r}, {len(self.entries)} entries)"
