"""Citizens recommend companies (or not), and the zone portal shows what citizens around think.

A citizen who is a customer (an open account on their Sésame, or a confirmed checkout) gives one recommendation
per company: yes or no overall and per criterion (financial, ethical, quality, commercial, service), an optional
short text only they see, and optionally a zone: a geohash of precision exactly 5, never finer. Summaries and the
zone portal publish only what at least k distinct citizens said, with complementary suppression against
differencing (``disclosure``'s docstring gives the reasoning and its limits).

Example::

    out, created = await services.recommend(session, citizen_id=7, company_id=3, data=RecommendationIn(
        recommend=True, criteria=Criteria(quality=True, service=False), zone="u09tv"))
    summary = await services.recommendation_summary(session, 3, k=settings.k_anonymity)
    portal = await services.zone_portal(session, precision=4, sector="47.11", k=settings.k_anonymity)
"""
