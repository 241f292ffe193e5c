import ConnwatchCore
import Foundation

/// Resolves `*_credential` keys from the systemd credentials directory and `*_file`
/// keys from files, refusing files that group or others can read.
struct SecretResolver {
    /// `$CREDENTIALS_DIRECTORY` or `--credentials-dir`.
    var credentialsDirectory: String?
    /// Directory of the file being read: relative `*_file` paths resolve against it.
    var baseDirectory: String
    /// False for commands that need the configuration but no secret (consent-url):
    /// the keys are still validated, the values are not read.
    var resolve: Bool = true

    enum Outcome {
        case secret(Secret)
        case absent
        case failed
    }

    /// Reads `<base>_credential` / `<base>_file` from `reader`. Reports errors to the reader.
    /// - Parameters:
    ///   - inline: a key holding the secret itself, refused with a pointer to the right keys.
    ///   - what: "the client secret" — used in messages.
    func resolve(
        _ reader: TableReader, base: String, inline: String?, required: Bool, what: String, fix: String
    )
        -> Outcome
    {
        let credKey = "\(base)_credential"
        let fileKey = "\(base)_file"
        if let inline, reader.has(inline) {
            reader.error(
                inline,
                "inline secrets are refused; store \(what) in a systemd credential and set \(credKey) = \"<id>\" (or \(fileKey) = \"/path\", mode 0600)"
            )
            _ = reader.string(credKey)
            _ = reader.string(fileKey)
            return .failed
        }
        let cred = reader.string(credKey)
        let file = reader.string(fileKey)
        switch (cred, file) {
        case (.some, .some):
            reader.error(fileKey, "set either \(credKey) or \(fileKey), not both")
            return .failed
        case (nil, nil):
            if reader.has(credKey) || reader.has(fileKey) { return .failed }  // present but mistyped: reported
            if required {
                reader.error(credKey, "missing; \(fix)")
                return .failed
            }
            return .absent
        case (let id?, nil):
            return fromCredential(reader, key: credKey, id: id, what: what)
        case (nil, let path?):
            return fromFile(reader, key: fileKey, path: path, what: what)
        }
    }

    func fromCredential(_ reader: TableReader, key: String, id: String, what: String) -> Outcome {
        guard Validators.isCredentialID(id) else {
            reader.error(key, "\"\(id)\" is not a valid credential ID; use letters, digits, '-', '_', '.' or '@'")
            return .failed
        }
        guard resolve else { return .secret(Secret("")) }
        guard let dir = credentialsDirectory, !dir.isEmpty else {
            reader.error(
                key,
                "credential \"\(id)\" cannot be read: $CREDENTIALS_DIRECTORY is not set; run under systemd with LoadCredential=\(id):/path/to/secret (or LoadCredentialEncrypted=), or pass --credentials-dir DIR"
            )
            return .failed
        }
        let path = (dir as NSString).appendingPathComponent(id)
        guard FileManager.default.fileExists(atPath: path) else {
            reader.error(
                key,
                "credential \"\(id)\" not found in \(dir); add LoadCredential=\(id):/path/to/secret to the unit (or put the file there)"
            )
            return .failed
        }
        return read(reader, key: key, path: path, shown: "credential \"\(id)\"", what: what, checkMode: false)
    }

    func fromFile(_ reader: TableReader, key: String, path rawPath: String, what: String) -> Outcome {
        guard !rawPath.isEmpty else {
            reader.error(key, "empty path; give the file holding \(what)")
            return .failed
        }
        let path = absolute(rawPath)
        guard resolve else { return .secret(Secret("")) }
        guard FileManager.default.fileExists(atPath: path) else {
            reader.error(key, "\(path): no such file")
            return .failed
        }
        return read(reader, key: key, path: path, shown: path, what: what, checkMode: true)
    }

    func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        return ((baseDirectory as NSString).appendingPathComponent(path) as NSString).standardizingPath
    }

    /// Group/other permission bits of a file, or nil when it cannot be stat'ed.
    static func looseMode(_ path: String) -> Int? {
        guard let attrs = try? FileManager.default.attributesOfItem(atPath: path),
            let mode = attrs[.posixPermissions] as? Int
        else { return nil }
        return mode & 0o077 != 0 ? mode & 0o7777 : nil
    }

    private func read(
        _ reader: TableReader, key: String, path: String, shown: String, what: String, checkMode: Bool
    )
        -> Outcome
    {
        if checkMode, let mode = SecretResolver.looseMode(path) {
            reader.error(
                key,
                "\(path) is readable by group or others (mode \(String(mode, radix: 8).leftPadded(to: 4))); run: chmod 600 \(path)"
            )
            return .failed
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            reader.error(key, "\(shown) cannot be read (permission denied?); the daemon's user must be able to read it")
            return .failed
        }
        guard var text = String(data: data, encoding: .utf8) else {
            reader.error(key, "\(shown) is not UTF-8 text")
            return .failed
        }
        // A trailing newline from `echo` or an editor is not part of the secret.
        while let last = text.last, last == "\n" || last == "\r" { text.removeLast() }
        guard !text.isEmpty else {
            reader.error(key, "\(shown) is empty; it must hold \(what)")
            return .failed
        }
        return .secret(Secret(text))
    }
}

extension String {
    func leftPadded(to width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}
