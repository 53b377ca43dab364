"""The bibliography: one typed citation per source, keyed as the code cites it (``[LEE2019]``).

Rules cite a key next to each threshold (``# [LEE2019] Table 1``); results carry the formatted
citation so every grade, score and dose says where it came from. Add a source here before citing it.
"""

from __future__ import annotations

from dataclasses import dataclass

from cartwatch.errors import closest_name


@dataclass(frozen=True, slots=True, kw_only=True)
class Citation:
    """One published source."""

    key: str
    authors: str
    title: str
    where: str
    year: int
    doi: str | None = None

    def __str__(self) -> str:
        return f"{self.authors} {self.title}. {self.where}"


def _c(
    key: str, authors: str, title: str, where: str, year: int, doi: str | None = None
) -> Citation:
    return Citation(key=key, authors=authors, title=title, where=where, year=year, doi=doi)


_ALL: tuple[Citation, ...] = (
    # --- grading: CRS and ICANS -------------------------------------------------------------
    _c(
        "LEE2019",
        "Lee DW, Santomasso BD, Locke FL, et al.",
        "ASTCT consensus grading for cytokine release syndrome and neurologic toxicity "
        "associated with immune effector cells",
        "Biol Blood Marrow Transplant 2019;25(4):625-638",
        2019,
        "10.1016/j.bbmt.2018.12.758",
    ),
    _c(
        "LEE2014",
        "Lee DW, Gardner R, Porter DL, et al.",
        "Current concepts in the diagnosis and management of cytokine release syndrome",
        "Blood 2014;124(2):188-195",
        2014,
        "10.1182/blood-2014-05-552729",
    ),
    _c(
        "NEELAPU2018",
        "Neelapu SS, Tummala S, Kebriaei P, et al.",
        "Chimeric antigen receptor T-cell therapy - assessment and management of toxicities "
        "(CARTOX)",
        "Nat Rev Clin Oncol 2018;15(1):47-62",
        2018,
        "10.1038/nrclinonc.2017.148",
    ),
    _c(
        "PORTER2018",
        "Porter D, Frey N, Wood PA, Weng Y, Grupp SA.",
        "Grading of cytokine release syndrome associated with the CAR T cell therapy "
        "tisagenlecleucel (Penn scale)",
        "J Hematol Oncol 2018;11:35",
        2018,
        "10.1186/s13045-018-0571-y",
    ),
    _c(
        "PARK2018",
        "Park JH, Riviere I, Gonen M, et al.",
        "Long-term follow-up of CD19 CAR therapy in acute lymphoblastic leukemia "
        "(MSKCC CRS scale, supplement)",
        "N Engl J Med 2018;378:449-459",
        2018,
        "10.1056/NEJMoa1709919",
    ),
    _c(
        "DAVILA2014",
        "Davila ML, Riviere I, Wang X, et al.",
        "Efficacy and toxicity management of 19-28z CAR T cell therapy in B cell acute "
        "lymphoblastic leukemia",
        "Sci Transl Med 2014;6:224ra25",
        2014,
        "10.1126/scitranslmed.3008226",
    ),
    _c(
        "CTCAE5",
        "National Cancer Institute.",
        "Common Terminology Criteria for Adverse Events (CTCAE) v5.0",
        "NCI, 27 November 2017",
        2017,
    ),
    _c(
        "TRAUBE2014",
        "Traube C, Silver G, Kearney J, et al.",
        "Cornell Assessment of Pediatric Delirium: a valid, rapid, observational tool for "
        "screening delirium in the PICU",
        "Crit Care Med 2014;42(3):656-663",
        2014,
        "10.1097/CCM.0b013e3182a66b76",
    ),
    _c(
        "NCIT_C188936",
        "NCI Thesaurus.",
        "Immune effector cell-associated neurotoxicity syndrome, grade 1 (concept C188936)",
        "NCI Thesaurus",
        2023,
    ),
    _c(
        "SITC2020",
        "Maus MV, Alexander S, Bishop MR, et al.",
        "Society for Immunotherapy of Cancer (SITC) clinical practice guideline on immune "
        "effector cell-related adverse events",
        "J Immunother Cancer 2020;8:e001511",
        2020,
        "10.1136/jitc-2020-001511",
    ),
    # --- IEC-HS, haematotoxicity ------------------------------------------------------------
    _c(
        "HINES2023",
        "Hines MR, Knight TE, McNerney KO, et al.",
        "Immune effector cell-associated hemophagocytic lymphohistiocytosis-like syndrome",
        "Transplant Cell Ther 2023;29(7):438.e1-438.e16",
        2023,
        "10.1016/j.jtct.2023.03.006",
    ),
    _c(
        "REJESKI2023",
        "Rejeski K, Subklewe M, Aljurf M, et al.",
        "Immune effector cell-associated hematotoxicity: EHA/EBMT consensus grading and best "
        "practice recommendations",
        "Blood 2023;142(10):865-877",
        2023,
        "10.1182/blood.2023020578",
    ),
    _c(
        "LIANG_ICAHT_CODE",
        "Liang EC, et al.",
        "automatedicahtgrading: reference implementation of EHA/EBMT ICAHT grading",
        "Fred Hutchinson Cancer Center, public code repository (index.Rmd)",
        2023,
    ),
    # --- risk scores --------------------------------------------------------------------------
    _c(
        "REJESKI2021",
        "Rejeski K, Perez A, Sesques P, et al.",
        "CAR-HEMATOTOX: a model for CAR T-cell-related hematologic toxicity in relapsed/"
        "refractory large B-cell lymphoma",
        "Blood 2021;138(24):2499-2513",
        2021,
        "10.1182/blood.2020010543",
    ),
    _c(
        "HAY2017",
        "Hay KA, Hanafi LA, Li D, et al.",
        "Kinetics and biomarkers of severe cytokine release syndrome after CD19 chimeric "
        "antigen receptor-modified T-cell therapy",
        "Blood 2017;130(21):2295-2306",
        2017,
        "10.1182/blood-2017-06-793141",
    ),
    _c(
        "GUST2017",
        "Gust J, Hay KA, Hanafi LA, et al.",
        "Endothelial activation and blood-brain barrier disruption in neurotoxicity after "
        "adoptive immunotherapy with CD19 CAR-T cells",
        "Cancer Discov 2017;7(12):1404-1419",
        2017,
        "10.1158/2159-8290.CD-17-0698",
    ),
    _c(
        "TEACHEY2016",
        "Teachey DT, Lacey SF, Shaw PA, et al.",
        "Identification of predictive biomarkers for cytokine release syndrome after chimeric "
        "antigen receptor T-cell therapy for acute lymphoblastic leukemia",
        "Cancer Discov 2016;6(6):664-679",
        2016,
        "10.1158/2159-8290.CD-16-0040",
    ),
    _c(
        "PENNISI2021",
        "Pennisi M, Sanchez-Escamilla M, Flynn JR, et al.",
        "Modified EASIX predicts severe cytokine release syndrome and neurotoxicity after "
        "chimeric antigen receptor T cells",
        "Blood Adv 2021;5(17):3397-3406",
        2021,
        "10.1182/bloodadvances.2020003885",
    ),
    _c(
        "KORELL2022",
        "Korell F, Penack O, Mattie M, et al.",
        "EASIX and severe endothelial complications after CD19-directed CAR-T cell therapy - "
        "a cohort study",
        "Front Immunol 2022;13:877477",
        2022,
        "10.3389/fimmu.2022.877477",
    ),
    _c(
        "GREENBAUM2021",
        "Greenbaum U, Strati P, Saliba RM, et al.",
        "CRP and ferritin in addition to the EASIX score predict CAR-T-related toxicity",
        "Blood Adv 2021;5(14):2799-2806",
        2021,
        "10.1182/bloodadvances.2021004575",
    ),
    # --- comparisons of scales ----------------------------------------------------------------
    _c(
        "COHEN1960",
        "Cohen J.",
        "A coefficient of agreement for nominal scales",
        "Educ Psychol Meas 1960;20(1):37-46",
        1960,
        "10.1177/001316446002000104",
    ),
    _c(
        "COHEN1968",
        "Cohen J.",
        "Weighted kappa: nominal scale agreement with provision for scaled disagreement or "
        "partial credit",
        "Psychol Bull 1968;70(4):213-220",
        1968,
        "10.1037/h0026256",
    ),
    _c(
        "FLEISS1969",
        "Fleiss JL, Cohen J, Everitt BS.",
        "Large sample standard errors of kappa and weighted kappa",
        "Psychol Bull 1969;72(5):323-327",
        1969,
        "10.1037/h0028106",
    ),
    _c(
        "KAPLAN1958",
        "Kaplan EL, Meier P.",
        "Nonparametric estimation from incomplete observations",
        "J Am Stat Assoc 1958;53(282):457-481",
        1958,
        "10.1080/01621459.1958.10501452",
    ),
    _c(
        "GREENWOOD1926",
        "Greenwood M.",
        "The natural duration of cancer",
        "Reports on Public Health and Medical Subjects 1926;33:1-26",
        1926,
    ),
    _c(
        "THERNEAU_SURVIVAL",
        "Therneau TM.",
        "survival: a package for survival analysis in R (survfit, print.survfit)",
        "R package version 3.5-3, CRAN",
        2023,
    ),
    _c(
        "SCHEMPER1996",
        "Schemper M, Smith TL.",
        "A note on quantifying follow-up in studies of failure time",
        "Control Clin Trials 1996;17(4):343-346",
        1996,
        "10.1016/0197-2456(96)00075-x",
    ),
    _c(
        "AALEN1978",
        "Aalen OO, Johansen S.",
        "An empirical transition matrix for non-homogeneous Markov chains based on censored "
        "observations",
        "Scand J Stat 1978;5(3):141-150",
        1978,
    ),
    _c(
        "GRAY1988",
        "Gray RJ.",
        "A class of K-sample tests for comparing the cumulative incidence of a competing risk "
        "(variance as in R package cmprsk, cuminc)",
        "Ann Stat 1988;16(3):1141-1154",
        1988,
        "10.1214/aos/1176350951",
    ),
    _c(
        "CHOUDHURY2002",
        "Choudhury JB.",
        "Non-parametric confidence interval estimation for competing risks analysis: "
        "application to contraceptive data",
        "Stat Med 2002;21(8):1129-1144",
        2002,
        "10.1002/sim.1070",
    ),
    _c(
        "GABRIELSSON2016",
        "Gabrielsson J, Weiner D.",
        "Pharmacokinetic and pharmacodynamic data analysis: concepts and applications "
        "(non-compartmental analysis)",
        "5th ed. Stockholm: Swedish Pharmaceutical Press; 2016",
        2016,
    ),
    _c(
        "PENNISI2020",
        "Pennisi M, Jain T, Santomasso BD, et al.",
        "Comparing CAR T-cell toxicity grading systems: application of the ASTCT grading "
        "system and implications for management",
        "Blood Adv 2020;4(4):676-686",
        2020,
        "10.1182/bloodadvances.2019000952",
    ),
    _c(
        "SCHUSTER2020",
        "Schuster SJ, Maziarz RT, Rusch ES, et al.",
        "Grading and management of cytokine release syndrome in patients treated with "
        "tisagenlecleucel in the JULIET trial",
        "Blood Adv 2020;4(7):1432-1439",
        2020,
        "10.1182/bloodadvances.2019001304",
    ),
    # --- management ---------------------------------------------------------------------------
    _c(
        "SEED001_TABLE2",
        "Seed 001 (Chinese review, after Schubert et al.).",
        "CAR-T免疫疗法所致细胞因子释放和神经毒性综合征的诊疗研究进展 (Table 2: CRS grading and "
        "management; section 2.4 ICANS management)",
        "shared/seeds/001",
        2021,
    ),
    _c(
        "SEED000_MGMT",
        "Seed 000 (Chinese review).",
        "CAR-T细胞肿瘤治疗中若干问题的思考 (section 5: management of CRS and CRES)",
        "shared/seeds/000",
        2019,
    ),
    _c(
        "SEED002_FAQ",
        "Li P (Shanghai Tongji Hospital), seed 002.",
        "CAR-T contraindications, organ criteria, apheresis platelets, FC lymphodepletion and IVIG "
        "(Zhihu Q&A)",
        "shared/seeds/002",
        2021,
    ),
    _c(
        "SEED004_AUTOIMMUNE",
        "Seed 004 (summary of Scherlinger M et al., Lancet Rheumatol 2025).",
        "CAR T-cell therapy in autoimmune diseases: reduced lymphodepletion (cyclophosphamide "
        "300 mg/m² alone), 50% renal reduction, IEC-HS day 4-32 (Figure 4)",
        "shared/seeds/004",
        2025,
    ),
    _c(
        "DIORIO2022",
        "Diorio C, Vatsayan A, Talleur AC, et al.",
        "Anakinra utilization in refractory pediatric CAR T-cell associated toxicities "
        "(multi-institution letter; citation as recalled, spec §6.1)",
        "Blood Adv 2022;6(11):3398-3403",
        2022,
    ),
    _c(
        "DFCI_LD_RENAL",
        "Dana-Farber Cancer Institute / Brigham and Women's Hospital.",
        "Institutional fludarabine renal adjustment for myeloma CAR-T lymphodepletion "
        "(abstract as cited in the clinical reference, spec §6.6)",
        "DFCI/BWH institutional practice (abstract)",
        2023,
    ),
    _c(
        "CIBMTR_TRACKS",
        "CIBMTR.",
        "Cell therapy reporting tracks and follow-up schedules (100 days, 6 months, annual, "
        "15-year track)",
        "CIBMTR Training and Reference Manual",
        2024,
    ),
    _c(
        "FDA_REMS2025",
        "US Food and Drug Administration.",
        "Elimination of the REMS for autologous BCMA- and CD19-directed CAR T-cell therapies; "
        "label changes to proximity and driving restrictions (2 weeks)",
        "FDA, June 2025",
        2025,
    ),
    _c(
        "ASCO2021",
        "Santomasso BD, Nastoupil LJ, Adkins S, et al.",
        "Management of immune-related adverse events in patients treated with chimeric antigen "
        "receptor T-cell therapy: ASCO guideline",
        "J Clin Oncol 2021;39(35):3978-3992",
        2021,
        "10.1200/JCO.21.01992",
    ),
    _c(
        "HAYDEN2022",
        "Hayden PJ, Roddie C, Bader P, et al.",
        "Management of adults and children receiving CAR T-cell therapy: 2021 best practice "
        "recommendations of the EBMT, JACIE and EHA",
        "Ann Oncol 2022;33(3):259-275",
        2022,
        "10.1016/j.annonc.2021.12.003",
    ),
    _c(
        "ACTEMRA_LABEL",
        "Genentech.",
        "Actemra (tocilizumab) US prescribing information, cytokine release syndrome dosing",
        "Genentech, South San Francisco",
        2024,
    ),
    _c(
        "YESCARTA_LABEL",
        "Kite Pharma.",
        "Yescarta (axicabtagene ciloleucel) US prescribing information",
        "Kite Pharma, Santa Monica",
        2025,
    ),
    _c(
        "TECARTUS_LABEL",
        "Kite Pharma.",
        "Tecartus (brexucabtagene autoleucel) US prescribing information",
        "Kite Pharma, Santa Monica",
        2025,
    ),
    _c(
        "KYMRIAH_LABEL",
        "Novartis.",
        "Kymriah (tisagenlecleucel) US prescribing information",
        "Novartis, East Hanover",
        2025,
    ),
    _c(
        "BREYANZI_LABEL",
        "Juno Therapeutics / Bristol-Myers Squibb.",
        "Breyanzi (lisocabtagene maraleucel) US prescribing information",
        "Bristol-Myers Squibb, Princeton",
        2025,
    ),
    _c(
        "ABECMA_LABEL",
        "Celgene / Bristol-Myers Squibb.",
        "Abecma (idecabtagene vicleucel) US prescribing information",
        "Bristol-Myers Squibb, Princeton",
        2025,
    ),
    _c(
        "CARVYKTI_LABEL",
        "Janssen Biotech.",
        "Carvykti (ciltacabtagene autoleucel) US prescribing information",
        "Janssen Biotech, Horsham",
        2025,
    ),
    _c(
        "FLUDARA_LABEL",
        "Fludara (fludarabine phosphate) prescribing information.",
        "Dosage in renal impairment (creatinine clearance by Cockcroft-Gault)",
        "Fludara US prescribing information",
        2008,
    ),
    _c(
        "FLUDARABINE_GENERIC_LABEL",
        "Pfizer.",
        "Fludarabine phosphate injection prescribing information, renal impairment",
        "Pfizer Medical Information",
        2019,
    ),
    _c(
        "MOSTELLER1987",
        "Mosteller RD.",
        "Simplified calculation of body-surface area",
        "N Engl J Med 1987;317:1098",
        1987,
        "10.1056/NEJM198710223171717",
    ),
    _c(
        "DUBOIS1916",
        "Du Bois D, Du Bois EF.",
        "A formula to estimate the approximate surface area if height and weight be known",
        "Arch Intern Med 1916;17:863-871",
        1916,
    ),
    _c(
        "COCKCROFT1976",
        "Cockcroft DW, Gault MH.",
        "Prediction of creatinine clearance from serum creatinine",
        "Nephron 1976;16:31-41",
        1976,
        "10.1159/000180580",
    ),
    # --- evidence synthesis -----------------------------------------------------------------
    _c(
        "VIECHTBAUER2010",
        "Viechtbauer W.",
        "Conducting meta-analyses in R with the metafor package",
        "J Stat Softw 2010;36(3):1-48",
        2010,
        "10.18637/jss.v036.i03",
    ),
    _c(
        "SCHWARZER2019",
        "Schwarzer G, Chemaitelly H, Abu-Raddad LJ, Rucker G.",
        "Seriously misleading results using inverse of Freeman-Tukey double arcsine "
        "transformation in meta-analysis of single proportions",
        "Res Synth Methods 2019;10(3):476-483",
        2019,
        "10.1002/jrsm.1348",
    ),
    _c(
        "MILLER1978",
        "Miller JJ.",
        "The inverse of the Freeman-Tukey double arcsine transformation",
        "Am Stat 1978;32(4):138",
        1978,
    ),
    _c(
        "CLOPPER1934",
        "Clopper CJ, Pearson ES.",
        "The use of confidence or fiducial limits illustrated in the case of the binomial",
        "Biometrika 1934;26(4):404-413",
        1934,
    ),
    _c(
        "WILSON1927",
        "Wilson EB.",
        "Probable inference, the law of succession, and statistical inference",
        "J Am Stat Assoc 1927;22(158):209-212",
        1927,
    ),
    _c(
        "PENNISI_SEED003",
        "Seed 003 (MedFind summary).",
        "Meta-analysis of 58 CAR-T trials in 3,281 adults",
        "Am J Hematol (as summarised in shared/seeds/003)",
        2020,
    ),
)

REFERENCES: dict[str, Citation] = {c.key: c for c in _ALL}


def cite(*keys: str) -> str:
    """The formatted citations for ``keys``, joined by "; " (raises for an unknown key)."""
    out = []
    for key in keys:
        try:
            out.append(str(REFERENCES[key]))
        except KeyError:
            near = closest_name(key, tuple(REFERENCES))
            raise KeyError(
                f"no citation `{key}` in the bibliography (did you mean {near}?)"
            ) from None
    return "; ".join(out)
