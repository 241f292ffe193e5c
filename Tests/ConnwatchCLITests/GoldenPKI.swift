import Foundation

/// A fixed self-signed certificate (CN=connwatch golden test, 2026-01-01 to 2036-01-01) and
/// its RSA key, made for these tests only, so that key file output is the same every run.
enum GoldenPKI {
    static let certificatePEM = """
        -----BEGIN CERTIFICATE-----
        MIICvTCCAaWgAwIBAgIFEjRWeJAwDQYJKoZIhvcNAQELBQAwIDEeMBwGA1UEAwwV
        Y29ubndhdGNoIGdvbGRlbiB0ZXN0MB4XDTI2MDEwMTAwMDAwMFoXDTM2MDEwMTAw
        MDAwMFowIDEeMBwGA1UEAwwVY29ubndhdGNoIGdvbGRlbiB0ZXN0MIIBIjANBgkq
        hkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAvDGAT7wuMXy5gApxIbE7WzFM3StwoPYP
        1oLP1uNayaY6qqbGrZBC11vcRYF37IFdJuIlj2STfXOrmCu6MyzXxYUuQzGrNFKV
        LUe096yoFDC1d99HHSu1zdnFhCPTJdkOVsqEu/UZV5COeyBAQV75nXYI0GrUKG1W
        Toie8lnOU36K4A7qz0nY3i3Pr+smcFVKNCIyOG5+L2sL6HEh+GpnwuswBOYmIHVN
        sg3uSWmlawe/2/IwADg/SsAbKyfPls+bhlOrm1jyMea87AkFQ+TjmMA6XLfDe7Mj
        ohRrA3F8rKH82LLFQvMb69UBrfKTC9uQQwsDgJD1X86ZBLI7ppR8kwIDAQABMA0G
        CSqGSIb3DQEBCwUAA4IBAQBsCQH1cc0sGpuYgQWDJJRThareFW4yMSiuW67KxWuF
        OxBg6Rh0qpWpimJwO21yvgfzx5Mim8M74KQx0VWj1iV4+zg8fLyUJVEFfo3MwGlj
        m/h2GrQvZ2L8IUH08PD6eaR3chSDNCYTNAizyaaDG+iwh5M8hs2XOS3rH5SaBZ5x
        iVcwlIOdBb2hVMDDiKiC2qWLMwFzWygbDY2wrSHg3cDcjO+daRrwgyLXqQMOOAGh
        RPv786gsqyiQIcAStq0sw97B+0UOsicUI+3rAZ8XjVoE/l4jk/zrSvJNpfN884uv
        1fpTzjB6gDjXPkvpDX3Lyngd5GzkmfkQze1AUepWaucW
        -----END CERTIFICATE-----

        """

    static let privateKeyPEM = """
        -----BEGIN PRIVATE KEY-----
        MIIEvwIBADANBgkqhkiG9w0BAQEFAASCBKkwggSlAgEAAoIBAQC8MYBPvC4xfLmA
        CnEhsTtbMUzdK3Cg9g/Wgs/W41rJpjqqpsatkELXW9xFgXfsgV0m4iWPZJN9c6uY
        K7ozLNfFhS5DMas0UpUtR7T3rKgUMLV330cdK7XN2cWEI9Ml2Q5WyoS79RlXkI57
        IEBBXvmddgjQatQobVZOiJ7yWc5TforgDurPSdjeLc+v6yZwVUo0IjI4bn4vawvo
        cSH4amfC6zAE5iYgdU2yDe5JaaVrB7/b8jAAOD9KwBsrJ8+Wz5uGU6ubWPIx5rzs
        CQVD5OOYwDpct8N7syOiFGsDcXysofzYssVC8xvr1QGt8pML25BDCwOAkPVfzpkE
        sjumlHyTAgMBAAECggEANp2ZEsrWjxcW0KF3JqOESdlbaL5gH955RzRMdB0kLmxX
        D0p6U0mQFGb83JEPyCvc6FluNBiosxo8HNvn3E0xy4l0nRyPho5G686pJs3NM5rV
        N1YtkborN3PxXgF1mEDPaAG7Fr8xXRe/Od1ouHADOh7UvQOb0aW1i/IbStMkTVdl
        wvwBU3xY3Wg5n81/uhVGUXUtIn/WJNwYEujxtLmbRV3q3lGAs6Zurn2ufRSzes4v
        XXgxpLM6Dygcrok/5NPaNoukVi4ON9AhjpXkEcfHKbNAEdAxLwxjEBxG1NY6/dnT
        8qX7zvf5GyWQ2uijzk4D7T5Vx/jCOxLoS5kJQAs5qQKBgQD/Vg7l6FbM+NJkMf61
        FXM/bCps9p0YMbQlaQ6ZUSagzSwg8Ty85JZFfj/PE5fJogDeddgLdAhNn96U0sne
        T+6kXKAAUi0o9qGL6gZc43e4Xal5yBcaYX0UfDyck4CDJFqn/JogNJITsMSBSzcq
        mtTScj0NTUxFoGn6HdCurcDIOQKBgQC8rsFhJIvRaMxawREGvP+pcWTf/98owLRS
        3qPhQeantpVWPGgR4kz7M39XcSlqB3He5Kobpu1T304KWdJRRYlEY+k2ywUVZV44
        yOTlV0FuiYVNIK/9y543hU8tELtp2paSi/GT+6OcQsEkX9TfBFjWOnYDvJy+t548
        yTzrFsuzKwKBgQDyAfs05bX/qIag+NHViHMnVboQdN4IpHN+UcjIgCYAmvaMcpmC
        35WeYD7SYlunfKkeMMuIb32/NRueKvuyfkhN+IyeQUUUYk5Tcoh9WguK7xtGleNv
        2Z7X37kDHrrbkYVrWvwqMimSCCT39vZep0m3/RbomK8F/zjzG3dDWOQz4QKBgQCx
        zkE/yQ/VfFuvXmcsIWkQBWLZUCe9ILQNr+9hdBfnjkD2riAoUkjXJHVpMqOjXnap
        ZHUFb+4Qbsv9Jx3yJoQvpbN9Rh55RjhfbLl/ghWQFBpBT39pvLtReNffEPh7zVi9
        qxExsh5BQAsAuypAK7mH0DmsVc6kTybYA4/bvnShVwKBgQDgmt684dMU5H2Y+5kv
        giUkUqEOzw5grmmAcwWIwKgQH2dDf+ubLP9MYkBKEqrB8DMtRbE3XhvGUOMjko8m
        0KL7F3bBrxko723sHMo/HB+QlnYr4wKZUc5K3Dbk/6rhX9rdsa8GOGNz+5PwvTWb
        JsGPNgiIO63c8IgSHYyC5isuxA==
        -----END PRIVATE KEY-----

        """

    static let thumbprint = "82852B60D79A40FC8BF7EF79BEAD33401BE09EA7"
}
