/* splay.h - an intrusive top-down splay tree (Sleator and Tarjan, 1985), generated per node type,
 * that lets the out-of-order buffers (reasm.c, defrag.c) find a place in O(log n) amortised. */
#ifndef CS_SPLAY_H
#define CS_SPLAY_H

/* CS_SPLAY_DEFINE(prefix, type, keytype, KEY, CMP) defines four static functions over nodes of
 * `type`, which must have members `type *left, *right`. KEY(node) is the node's key (of keytype);
 * CMP(a, b) compares two keys: < 0, 0 or > 0. Keys in one tree are distinct. The tree is a
 * `type *root` owned by the caller (NULL: empty); nodes are neither allocated nor freed here.
 *
 *   type *prefix_splay(type *t, keytype k): splays the tree t around k and returns the new root:
 *       the node with key k if there is one, else its predecessor or successor. Can't fail.
 *   type *prefix_floor(type **root, keytype k): the node with the largest key <= k, or NULL.
 *   void prefix_insert(type **root, type *x): adds x (its key must not be in the tree).
 *   void prefix_remove(type **root, const type *x): takes x (which must be in the tree) out.
 * Each costs O(log n) amortised; a run of accesses in key order costs O(1) each. */
#define CS_SPLAY_DEFINE(prefix, type, keytype, KEY, CMP)                                           \
    __attribute__((unused)) static type *prefix##_splay(type *t, keytype k)                        \
    {                                                                                              \
        type *lroot = NULL, *rroot = NULL;                                                         \
        type **lhook = &lroot, **rhook = &rroot; /* where the next smaller/larger node goes */     \
        if (t == NULL)                                                                             \
            return NULL;                                                                           \
        for (;;) {                                                                                 \
            int c = CMP(k, KEY(t));                                                                \
            if (c < 0) {                                                                           \
                if (t->left == NULL)                                                               \
                    break;                                                                         \
                if (CMP(k, KEY(t->left)) < 0) { /* zig-zig: rotate right */                        \
                    type *y = t->left;                                                             \
                    t->left = y->right;                                                            \
                    y->right = t;                                                                  \
                    t = y;                                                                         \
                    if (t->left == NULL)                                                           \
                        break;                                                                     \
                }                                                                                  \
                *rhook = t; /* t and its right subtree are larger than k */                        \
                rhook = &t->left;                                                                  \
                t = t->left;                                                                       \
            } else if (c > 0) {                                                                    \
                if (t->right == NULL)                                                              \
                    break;                                                                         \
                if (CMP(k, KEY(t->right)) > 0) { /* zag-zag: rotate left */                        \
                    type *y = t->right;                                                            \
                    t->right = y->left;                                                            \
                    y->left = t;                                                                   \
                    t = y;                                                                         \
                    if (t->right == NULL)                                                          \
                        break;                                                                     \
                }                                                                                  \
                *lhook = t; /* t and its left subtree are smaller than k */                        \
                lhook = &t->right;                                                                 \
                t = t->right;                                                                      \
            } else {                                                                               \
                break;                                                                             \
            }                                                                                      \
        }                                                                                          \
        *lhook = t->left;                                                                          \
        *rhook = t->right;                                                                         \
        t->left = lroot;                                                                           \
        t->right = rroot;                                                                          \
        return t;                                                                                  \
    }                                                                                              \
                                                                                                   \
    __attribute__((unused)) static type *prefix##_floor(type **root, keytype k)                    \
    {                                                                                              \
        *root = prefix##_splay(*root, k);                                                          \
        if (*root == NULL || CMP(KEY(*root), k) <= 0)                                              \
            return *root;                                                                          \
        /* the root is the successor of k: the floor is the largest node on its left */            \
        (*root)->left = prefix##_splay((*root)->left, k);                                          \
        return (*root)->left;                                                                      \
    }                                                                                              \
                                                                                                   \
    __attribute__((unused)) static void prefix##_insert(type **root, type *x)                      \
    {                                                                                              \
        type *t = prefix##_splay(*root, KEY(x));                                                   \
        x->left = x->right = NULL;                                                                 \
        if (t != NULL) {                                                                           \
            if (CMP(KEY(x), KEY(t)) < 0) {                                                         \
                x->left = t->left;                                                                 \
                x->right = t;                                                                      \
                t->left = NULL;                                                                    \
            } else {                                                                               \
                x->right = t->right;                                                               \
                x->left = t;                                                                       \
                t->right = NULL;                                                                   \
            }                                                                                      \
        }                                                                                          \
        *root = x;                                                                                 \
    }                                                                                              \
                                                                                                   \
    __attribute__((unused)) static void prefix##_remove(type **root, const type *x)                \
    {                                                                                              \
        type *t = prefix##_splay(*root, KEY(x)); /* t == x: keys are distinct */                   \
        if (t->left == NULL) {                                                                     \
            *root = t->right;                                                                      \
        } else {                                                                                   \
            type *l = prefix##_splay(t->left, KEY(x)); /* x's predecessor: no right child */       \
            l->right = t->right;                                                                   \
            *root = l;                                                                             \
        }                                                                                          \
    }

#endif
