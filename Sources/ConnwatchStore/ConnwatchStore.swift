// ConnwatchStore: see README.md (Architecture).
