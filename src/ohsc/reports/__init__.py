"""Reports to authorities: drafts, destinations (NCMEC CyberTipline, UK NCA, EU Centre, a local
folder), resumable submission, retraction and statistics.

The service is :class:`ohsc.reports.service.ReportService`; importing this package is cheap.
"""
