/*
 * grilld-twsim: private declarations, grouped by the file that defines them.
 */
#ifndef GRILLD_TWSIM_H
#define GRILLD_TWSIM_H

#endif
