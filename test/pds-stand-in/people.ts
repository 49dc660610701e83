/** The PDS stand-in's synthetic people, as the tests use them. */
export { PDS_PEOPLE } from '../../src/mpi/pds/stand-in-people.ts';
