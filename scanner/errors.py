"""The scanner's errors, all in Sésame's one tree (``sesame.errors``); ``sesame.problems`` makes them HTTP."""

from __future__ import annotations

from sesame.errors import BadSyntax, Conflict, FieldError, Forbidden, InvalidInput, NotFound

__all__ = [
    "CheckDigitError",
    "GS1SyntaxError",
    "GtinTaken",
    "ImageUnreadable",
    "NoCodeFound",
    "NotProductOwner",
    "ProductNotFound",
    "UnknownIdentifier",
    "UnreadableCode",
]


class GS1SyntaxError(BadSyntax):
    """A GS1 Digital Link path or element string that breaks GS1's syntax (400 on the resolver)."""

    type_slug = "gs1-syntax"
    title = "Invalid GS1 syntax"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class CheckDigitError(GS1SyntaxError):
    """Well-formed digits whose GS1 check digit is wrong (a misread or mistyped code)."""

    type_slug = "gs1-check-digit"
    title = "Wrong GS1 check digit"


class UnreadableCode(InvalidInput):
    """422 on ``/api/v1/scan``: the scanned text is not a GS1 code we can read, with GS1's reason."""

    type_slug = "unreadable-code"
    title = "Unreadable code"

    def __init__(self, field_name: str, reason: str, *, check_digit: bool = False) -> None:
        super().__init__(FieldError(field_name, reason))
        self.check_digit = check_digit


class ImageUnreadable(InvalidInput):
    type_slug = "image-unreadable"
    title = "Not a readable image"

    def __init__(self, reason: str) -> None:
        super().__init__(FieldError("body.file", reason))


class NoCodeFound(InvalidInput):
    type_slug = "no-code-found"
    title = "No barcode found in the image"

    def __init__(self, reason: str = "no QR code, DataMatrix or EAN/UPC barcode was found") -> None:
        super().__init__(FieldError("body.file", reason))


class UnknownIdentifier(NotFound):
    """A well-formed GS1 key this resolver has no record of (another primary key, or an unregistered GTIN)."""

    type_slug = "unknown"
    title = "Unknown identifier"


class ProductNotFound(UnknownIdentifier):
    def __init__(self, gtin: str) -> None:
        super().__init__(f"no product is registered under GTIN {gtin}", gtin=gtin)


class GtinTaken(Conflict):
    type_slug = "gtin-taken"
    title = "GTIN already registered"


class NotProductOwner(Forbidden):
    type_slug = "not-product-owner"
    title = "Only the owning company may do this"
