/// A 2048-bit RSA key pair for RS256 tests only, made with
/// `openssl genrsa 2048 > k.pem && openssl rsa -in k.pem -pubout`. It protects nothing.
enum TestRSAKey {
    /// The private key (PKCS#8 PEM) the tests sign with.
    static let privatePEM = """
-----BEGIN PRIVATE KEY-----
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQCmWeEIxR2l8lSZ
cQFD712ucMe0vaM3f6jUBqNxkMASzMBE74TbiNn9vPRvcggGqJV+E7QN4Wo2lUOa
Mtbs5gezmvbQL+OqvANJrdkwkiu7fu8MYL25cqbsgNL5amJjBrjhLy/fXhKpmYHw
x0+YfHpsPpExuKDHnHpydG323iv2hanW7H21+8AiZGEuliQNhs24kNDR5V2FwKA3
tF71UkPVSlYJhc0Yp24LcUSZJhzcD72sOFnOCl+IRP13gYK51iIVISxKQjmLT1FE
Zmz6FO3vFV/+6hntslHSjt0lo58hScSOyLaYzvPeLbdkc8zyClhEjicjgcd7Ef6l
TMOKU5fBAgMBAAECggEAAhCm8ZB9XYtSY6h+iBbtTDpiD0dEor5s5ItrzV/LM5yL
NTveM8m5T4wgQm8pZHhEqVDSLRMvmet80CnqBz00iqUtg9B5YHvmpEwyQFcrL+/b
pLUhe88tnW1cuRwKCkHJyyFWZDznKUfyoBAgV8OxUx1MeQAaTloN3tR9TjmMNQpm
+dQJsruOHS/Forr7cj2I1AXFWmmpnH40ObHauhsaPWwpP35mBQbiWye0QgPqdB8W
ZyH9glYASvhE9mzGeuJL08e21qVRosJLQ6MxRkQeeBgDqv2Uhmq1UecaZrmy7CgS
MKyZWyDxp3eLftEvhFqjflg9efL7/LCXmUPVd32OMQKBgQDeb9FShoSHgPumwnSF
8CrktyiOHoQEIO/ZguGTYp9uAkRzxJhRwzjGCBcAknBJaN8YmWqL2Ci5SENapvcZ
DLJnz/+RBXqtXehotUMtmckktohkPTqn7XbRXbD9wfHXTNp2b6kEyflRlqJ31WQs
q+Zw3YhBjtA9pvJ7c+IC6DWCMQKBgQC/c5wYM2DZfHO9CYuBhzDlvhi/kKnuVsXP
7Cjmh12C19VF/Tdsh1E7ihvaCGzzjcQtCbZWQ+pNMG43gvW0TN0EzVQ691KAc4QM
CiBiYEVC6Of/KElZ4/8XFlqFqlg7PVGZDYKHgxo4e0h47iu0AbruqiZ2RHJPioF6
s+L/77H6kQKBgHkQ9ycpm/x8kXuEHxO/UjlGD0a7CTOOEb2bZNdpOEkR5tvzxsvJ
q57tTEe9bGwoLjUfW0ReFFw0HqS6d4ckx/2E0h7GkqzFjfdfoP6y0y2uQ7H7OW+o
6aCuk+SpqM18QPNxdtbqb06e5DLA7FL8BOKtULoN1v2XXicfPYZDiMwhAoGBAJeq
sIgDe8APdWjWPOw5+ySludlYcyZbG44iGiy2JABZl51Agj253UJ7oKDTd+xh7H15
ajdgyiaoLUhQuPFCyvzY5NdpwrP7zynyg8ErXvMoq1FZyvIpSpYxoTiuwAL+Crxj
FXrhA06na7xRgdGyZTJZHOsoQh59LSHVjAkRDD/hAoGBAMW2J2MTgycBnson6NfV
nUQwz3YpmqMVHylZ1W9xqQ2jw57X3qycYQxdEiX9gh50qZJeeJqMFewxxoMFGt9s
yeguAtzp0jYJqMpcSg/yU4b36yR+KehhlIUSbsOg6CMviiaxkop1SjfHVUo734cV
0ucaWu1cVlZt0a6ilYYOjypa
-----END PRIVATE KEY-----
"""

    /// The matching public key (SubjectPublicKeyInfo PEM) a broker verifies with.
    static let publicPEM = """
-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAplnhCMUdpfJUmXEBQ+9d
rnDHtL2jN3+o1AajcZDAEszARO+E24jZ/bz0b3IIBqiVfhO0DeFqNpVDmjLW7OYH
s5r20C/jqrwDSa3ZMJIru37vDGC9uXKm7IDS+WpiYwa44S8v314SqZmB8MdPmHx6
bD6RMbigx5x6cnRt9t4r9oWp1ux9tfvAImRhLpYkDYbNuJDQ0eVdhcCgN7Re9VJD
1UpWCYXNGKduC3FEmSYc3A+9rDhZzgpfiET9d4GCudYiFSEsSkI5i09RRGZs+hTt
7xVf/uoZ7bJR0o7dJaOfIUnEjsi2mM7z3i23ZHPM8gpYRI4nI4HHexH+pUzDilOX
wQIDAQAB
-----END PUBLIC KEY-----
"""
}
