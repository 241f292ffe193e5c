// ConnwatchEntra: see README.md (Architecture).
