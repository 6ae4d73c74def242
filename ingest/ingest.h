/*
 * grilld-ingest: private declarations, grouped by the file that defines them.
 */
#ifndef GRILLD_INGEST_H
#define GRILLD_INGEST_H

#endif
