/**
 * Synthetic people served by the PDS stand-in (999-range NHS numbers, Modulus 11 valid): the default
 * data for `node src/mpi/pds/stand-in.ts` and the data the tests use.
 */
import type { StandInData } from './stand-in.ts';

export const PDS_PEOPLE: StandInData = {
  people: [
    {
      nhsNumber: '9990000077',
      family: 'Taylor',
      given: ['Jane', 'Ann'],
      gender: 'female',
      birthDate: '1962-03-14',
      postcode: 'LS1 4AP',
      line: ['1 Park Row', 'Leeds'],
      phone: '01130000000',
      gpOds: 'B86001',
    },
    {
      nhsNumber: '9990000085',
      family: 'Hidden',
      given: ['Rose'],
      gender: 'female',
      birthDate: '1975-11-02',
      postcode: 'LS2 9JT',
      line: ['2 Secret Lane'],
      phone: '01130000001',
      gpOds: 'B86002',
      security: 'R',
    },
    {
      nhsNumber: '9990000093',
      family: 'Patel',
      given: ['Amir'],
      gender: 'male',
      birthDate: '1990-01-01',
      postcode: 'BD1 1AA',
    },
    {
      nhsNumber: '9990000107',
      family: 'Patel',
      given: ['Anil'],
      gender: 'male',
      birthDate: '1990-01-01',
      postcode: 'BD1 1AB',
    },
    {
      nhsNumber: '9990000115',
      family: 'Newman',
      given: ['Neil'],
      gender: 'male',
      birthDate: '1950-05-05',
      postcode: 'HG1 1AA',
    },
  ],
  // 9990000123 was superseded by 9990000115.
  superseded: { '9990000123': '9990000115' },
};
