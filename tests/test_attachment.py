"""Attachments: PDF, DOCX and ODT text by section, failures, and attachment-list changes."""

from __future__ import annotations

import io
import zipfile

import pytest
from pypdf import PdfReader, PdfWriter

from monitor.diff import diff_documents
from monitor.normalise.attachment import (
    AttachmentError,
    attachment_document,
    docx_document,
    odt_document,
    pdf_document,
    sniff,
)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def make_pdf(pages: list[list[str]], title: str = "Fixture plan") -> bytes:
    """A minimal valid PDF: one Helvetica text line per list item, 14 pt apart."""
    objects: list[bytes] = []
    n_pages = len(pages)
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(n_pages))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {n_pages} >>".encode())
    font_id = 3 + 2 * n_pages
    for i, lines in enumerate(pages):
        ops = (
            "BT /F1 11 Tf 14 TL 72 760 Td "
            + " ".join(f"({_escape(x)}) Tj T*" for x in lines)
            + " ET"
        )
        stream = ops.encode("latin-1")
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {4 + 2 * i} 0 R "
            f"/Resources << /Font << /F1 {font_id} 0 R >> >> >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    objects.append(
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
    )
    objects.append(f"<< /Title ({_escape(title)}) >>".encode())
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for n, obj in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(f"{n} 0 obj\n".encode() + obj + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for off in offsets:
        out.write(f"{off:010d} 00000 n \n".encode())
    out.write(
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info {len(objects)} 0 R >>\n"
        f"startxref\n{xref}\n%%EOF\n".encode()
    )
    return out.getvalue()


PLAN = [
    [
        "1. Introduction",
        "This plan sets out how services will grow.",
        "2. Funding",
        "We will invest 2.3 billion pounds a year by 2023/24",
        "in community mental health services.",
    ],
    ["3. Workforce", "We will recruit 8,500 additional staff."],
]


def make_docx(paragraphs: list[tuple[str, str | None]]) -> bytes:
    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    body = ""
    for text, style in paragraphs:
        ppr = f'<w:pPr><w:pStyle w:val="{style}"/></w:pPr>' if style else ""
        body += f"<w:p>{ppr}<w:r><w:t>{text}</w:t></w:r></w:p>"
    body += "<w:tbl><w:tr><w:tc><w:p><w:r><w:t>Year</w:t></w:r></w:p></w:tc>"
    body += "<w:tc><w:p><w:r><w:t>2024/25</w:t></w:r></w:p></w:tc></w:tr></w:tbl>"
    xml = f'<?xml version="1.0"?><w:document xmlns:w="{w}"><w:body>{body}</w:body></w:document>'
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", xml)
    return buf.getvalue()


def make_odt() -> bytes:
    ns = (
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"'
    )
    xml = (
        f'<?xml version="1.0"?><office:document-content {ns}><office:body><office:text>'
        '<text:h text:outline-level="1">Deadlines</text:h>'
        "<text:p>Responses close on 31 March 2025.</text:p>"
        "<text:list><text:list-item><text:p>Submit by email.</text:p></text:list-item></text:list>"
        "</office:text></office:body></office:document-content>"
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        z.writestr("content.xml", xml)
    return buf.getvalue()


def test_pdf_text_is_split_into_numbered_sections() -> None:
    doc = pdf_document(make_pdf(PLAN))
    assert doc.meta["pages"] == 2 and doc.meta["title"] == "Fixture plan"
    sections = {b.section for b in doc.blocks}
    assert {"1. Introduction", "2. Funding", "3. Workforce"} <= sections
    funding = [b.text for b in doc.blocks if b.section == "2. Funding" and b.kind == "p"]
    assert funding == [
        "We will invest 2.3 billion pounds a year by 2023/24 in community mental health services."
    ]


def test_pdf_edit_diffs_within_its_section() -> None:
    edited = [PLAN[0], ["3. Workforce", "We will recruit 9,000 additional staff."]]
    hunks = diff_documents(pdf_document(make_pdf(PLAN)), pdf_document(make_pdf(edited)))
    changed = [h for h in hunks if h.added or h.removed]
    assert changed and all(h.section == "3. Workforce" for h in changed)


def test_encrypted_pdf_is_a_clear_error() -> None:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf(PLAN))))
    writer.encrypt(user_password="secret", algorithm="RC4-128")
    buf = io.BytesIO()
    writer.write(buf)
    with pytest.raises(AttachmentError, match="encrypted"):
        pdf_document(buf.getvalue())


@pytest.mark.parametrize(
    "body", [b"%PDF-1.4\n garbage garbage", b"%PDF-1.7\n1 0 obj << /Type /Catalog"]
)
def test_garbage_pdf_is_a_clear_error(body: bytes) -> None:
    with pytest.raises(AttachmentError, match="PDF"):
        pdf_document(body)


def test_not_an_attachment() -> None:
    with pytest.raises(AttachmentError, match="unsupported"):
        attachment_document(b"<html></html>", content_type="text/html", url="https://x/y")
    with pytest.raises(AttachmentError, match="not a PDF"):
        pdf_document(b"hello")


def test_pdf_page_limit_is_recorded_as_ignored() -> None:
    doc = pdf_document(make_pdf(PLAN), max_pages=1)
    assert "3. Workforce" not in {b.section for b in doc.blocks}
    assert doc.ignored and "pages 2-2 not read" in doc.ignored[0].text


def test_docx_headings_paragraphs_and_table_rows() -> None:
    body = make_docx([("Funding", "Heading1"), ("We will invest 1 billion pounds.", None)])
    assert sniff(body) == "docx"
    doc = docx_document(body)
    assert [(b.kind, b.section, b.text) for b in doc.blocks] == [
        ("h", "Funding", "Funding"),
        ("p", "Funding", "We will invest 1 billion pounds."),
        ("p", "Funding", "Year | 2024/25"),
    ]


def test_odt_headings_and_list_items() -> None:
    body = make_odt()
    assert sniff(body) == "odt"
    doc = odt_document(body)
    assert [b.text for b in doc.blocks] == [
        "Deadlines",
        "Responses close on 31 March 2025.",
        "Submit by email.",
    ]
    assert doc.blocks[1].section == "Deadlines"


def test_zip_that_is_not_a_document() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("readme.txt", "hi")
    with pytest.raises(AttachmentError):
        docx_document(buf.getvalue())
    with pytest.raises(AttachmentError, match="not a readable"):
        docx_document(b"PK\x03\x04 broken")


def test_registered_as_the_attachment_normaliser() -> None:
    from monitor.normalise import normalise

    doc = normalise(make_pdf(PLAN), url="https://x/plan.pdf", kind="attachment")
    assert "2. Funding" in {b.section for b in doc.blocks}
    garbage = normalise(b"%PDF-1.4 junk", url="https://x/bad.pdf", kind="attachment")
    assert any("not valid attachment" in i.reason for i in garbage.ignored)
