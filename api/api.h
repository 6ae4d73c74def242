/*
 * grilld-api: private declarations, grouped by the file that defines them.
 */
#ifndef GRILLD_API_H
#define GRILLD_API_H

#endif
