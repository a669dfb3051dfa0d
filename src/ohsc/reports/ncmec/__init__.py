"""NCMEC CyberTipline Reporting API: documents, client and a local fake server."""
