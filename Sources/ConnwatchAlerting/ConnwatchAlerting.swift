// ConnwatchAlerting: see README.md (Architecture).
