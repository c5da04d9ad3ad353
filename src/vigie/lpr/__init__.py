"""Plate reading (LAPI, issue 18): plate grammar (:mod:`vigie.lpr.formats`), localisation and recognition on
PaddleOCR's ONNX models shipped inside the ``rapidocr_onnxruntime`` wheel (:mod:`vigie.lpr.reader`), and one read
per vehicle track by voting (:mod:`vigie.lpr.vote`).

Only state tenants may run it, and only under an activation (L34); this package reads pixels and knows nothing of
tenants, storage or lists' matching rules (those are in the services layer).
"""
