/* placeholder: being written */
typedef int s_placeholder_t;
