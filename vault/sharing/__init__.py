"""Citizens among themselves: dossiers shared between citizens, interest segments, and offers.

A citizen compiles dossiers on a sector or a market (companies, own notes, recommend flags) and shares one with
another citizen by ``sesame_id`` or by a link / QR code that expires; the recipient sees each company's current
verified profile and can import a copy; the author can revoke. A citizen opts into interest segments (and may
state a 5 km zone); a company's offer reaches only citizens opted into its segment who have an open account
with it (and are in its zone, and did not mute it), and the company learns only how many, not below k.

Example::

    dossier = await services.create_dossier(session, owner_id=7, data=DossierIn(
        title="Marché de la Croix-Rousse", companies=[DossierEntryIn(company_id=3, note="best bread", recommend=True)]))
    link = await services.share_dossier(session, settings, owner_id=7, dossier_id=dossier.id, data=ShareIn())
    seen = await services.shared_dossier(session, viewer_id=8, token=link.token)
    report = (await services.send_offer(session, principal_id=company_account, data=offer, k=5)).delivery
"""
