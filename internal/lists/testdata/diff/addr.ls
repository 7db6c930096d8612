a@b.example: adata
*@d.example: domdefault
