/* follow.h - the `follow` subcommand (one TCP stream's reassembled payload, like tshark -z follow).
 * Entry point called by main() when the first argument is "follow". */
#ifndef CS_FOLLOW_H
#define CS_FOLLOW_H

/* Runs `connscope follow ...` with argv[0] = "follow". Returns the exit status (0, 1 input
 * errors, 2 usage or unreadable input). */
int cs_follow_main(int argc, char **argv);

#endif
