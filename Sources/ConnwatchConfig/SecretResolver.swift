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
        // The value is never quoted: a pasted secret or URL is the usual mistake here.
        guard Validators.isCredentialID(id) else {
            let fix =
                "store \(what) in a file, load it with LoadCredential=<id>:/path/to/file in the unit (or put it in --credentials-dir) and set \(key) = \"<id>\""
            if let note = Validators.pastedShapeNote(id, expected: "a credential ID") {
                reader.error(key, "the value (not shown) \(note); \(fix)")
            } else {
                reader.error(
                    key,
                    "the value (\(id.count) characters, not shown) is not a valid credential ID; use letters, digits, '-', '_', '.' or '@'"
                )
            }
            return .failed
        }
        guard resolve else { return .secret(Secret("")) }
        guard let dir = credentialsDirectory, !dir.isEmpty else {
            reader.error(
                key,
                "the credential cannot be read: $CREDENTIALS_DIRECTORY is not set; run under systemd with LoadCredential=<id>:/path/to/secret (or LoadCredentialEncrypted=), or pass --credentials-dir DIR"
            )
            return .failed
        }
        let path = (dir as NSString).appendingPathComponent(id)
        let shown = "credential \"\(id)\""
        switch Result(catching: { () throws(SecureFile.Failure) in try SecureFile.read(path, checkMode: false) }) {
        case .success(let data):
            return secret(reader, key: key, data: data, shown: shown, what: what)
        case .failure(.notFound):
            var message = "no credential with this ID in \(dir); add LoadCredential=<id>:/path/to/secret to the unit (or put the file there)"
            if let note = Validators.pastedShapeNote(id, expected: "a credential ID") {
                message = "the value (not shown) \(note); " + message
            }
            reader.error(key, message)
            return .failed
        case .failure(let failure):
            reader.error(key, failure.explain(shown))
            return .failed
        }
    }

    func fromFile(_ reader: TableReader, key: String, path rawPath: String, what: String) -> Outcome {
        guard !rawPath.isEmpty else {
            reader.error(key, "empty path; give the file holding \(what)")
            return .failed
        }
        let path = absolute(rawPath)
        guard resolve else { return .secret(Secret("")) }
        switch SecretResolver.readSecretFile(path) {
        case .success(let data):
            return secret(reader, key: key, data: data, shown: path, what: what)
        case .failure(let failure):
            reader.error(key, SecretResolver.explain(failure, rawPath: rawPath, path: path, what: what))
            return .failed
        }
    }

    /// A secret file (`*_file`, `key_file`, `certificate_file`): no symlink, a regular file
    /// owned by root or this process's user, mode 0600 or tighter.
    static func readSecretFile(_ path: String) -> Result<Data, SecureFile.Failure> {
        Result { () throws(SecureFile.Failure) in try SecureFile.read(path) }
    }

    /// The error for a secret file that cannot be used. The configured value is shown
    /// only once it is known to name an existing file (then it is a path, not a pasted
    /// secret).
    static func explain(_ failure: SecureFile.Failure, rawPath: String, path: String, what: String) -> String {
        guard failure == .notFound else { return failure.explain(path) }
        if let note = Validators.pastedShapeNote(rawPath, expected: "a path") {
            return "the value (not shown) \(note); store \(what) in a file (chmod 600) and give its path here"
        }
        return "the file it names does not exist (the path is not shown, in case a secret was pasted here); give the path of the file holding \(what)"
    }

    func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        return ((baseDirectory as NSString).appendingPathComponent(path) as NSString).standardizingPath
    }

    private func secret(_ reader: TableReader, key: String, data: Data, shown: String, what: String) -> Outcome {
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
