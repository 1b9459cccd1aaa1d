"""Companies' civil status (état civil): registration, versioned indicator disclosures, verifiers and their
signed attestations, the public profile with its transparency score, and open data.

Other packages use only ``company_profiles.services`` (and its schemas), never the tables::

    from company_profiles import services

    gaps = await services.mandatory_attestation_gaps(session, company_id)   # [] → may open accounts
    version, ledger_index = await services.current_version_ref(session, company_id)
    profile = await services.public_profile(session, company_id)           # CompanyProfile
    views = await services.highlights(session, company_id, ["employee_satisfaction"])
    print(views[0].value, views[0].unit, views[0].state)                   # 64 % attested

A company files a version and a verifier attests it::

    receipt = await services.file_civil_status(
        session, company_id=cid, account_id=owner_id,
        filing=CivilStatusFiling(indicators={"employee_satisfaction": IndicatorInput(value=64)}),
    )
    attestation = await services.issue_attestation(
        session, keys, company_id=cid, account_id=verifier_account_id,
        request=AttestationRequest(indicator="employee_satisfaction", value=64),
    )
    check = await services.verify_attestation(session, attestation.jws)   # check.valid

Another package that caches profiles registers ``services.profile_changed_hooks.append(hook)``: each hook runs
inside the transaction of every filing, attestation and revocation. Verification states and the transparency
score are documented in ``company_profiles.services``.
"""

__all__: list[str] = []
